/** Every local server (PostgreSQL, status APIs, services) binds to loopback only. */
export const LOOPBACK = '127.0.0.1';
