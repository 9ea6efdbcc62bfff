// s3rver ships no types; test/harness/s3.ts gives it the few it uses.
declare module 's3rver';
