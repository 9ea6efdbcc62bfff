/**
 * The `pgherd` command: the CLI, and the entry point of every local role (operator, router,
 * instance). The only place that picks a platform. Exit codes: 0 success, 1 a user error,
 * 2 an internal failure.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, Command, Option } from '@commander-js/extra-typings';
import { type CliContext, type Output, UserError } from '../cli/context.ts';
import { resolveHome } from '../platforms/local/layout.ts';
import { ControlPlaneError } from '../ports/control-plane.ts';

/** bin/pgherd.js, used to start our own background processes. */
const ENTRY = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/pgherd.js');

const io: Output = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  progress: (t) => process.stderr.write(`${t}\n`),
};

let exitCode = 0;

// Each command loads only the modules it needs: the instance manager and the router start in
// a fraction of the time it takes to load the whole CLI (zod schemas, tables, YAML).
const cli = {
  apply: () => import('../cli/apply.ts'),
  backup: () => import('../cli/backup.ts'),
  get: () => import('../cli/get.ts'),
  lifecycle: () => import('../cli/lifecycle.ts'),
  logs: () => import('../cli/logs.ts'),
  output: () => import('../cli/output.ts'),
  psql: () => import('../cli/psql.ts'),
  status: () => import('../cli/status.ts'),
  wait: () => import('../cli/wait.ts'),
  roles: () => import('../platforms/local/roles.ts'),
  routerRole: () => import('../platforms/local/router-role.ts'),
  instanceRole: () => import('../platforms/local/instance-role.ts'),
};

async function context(opts: { home?: string; namespace?: string }): Promise<CliContext> {
  const home = resolveHome(opts.home, process.env);
  const { createLocalCliPlatform } = await import('../platforms/local/cli-platform.ts');
  return { platform: createLocalCliPlatform(home, ENTRY), io, namespace: opts.namespace ?? 'default' };
}

async function parseDuration(text: string): Promise<number> {
  return (await cli.output()).parseDuration(text);
}

const program = new Command()
  .name('pgherd')
  .description('Declarative, self-healing PostgreSQL clusters (CloudNativePG API) on one machine')
  .option(
    '--home <dir>',
    'pgherd home (default $PGHERD_HOME, else /var/lib/pgherd as root, ~/.pgherd otherwise)',
  )
  .option('-n, --namespace <ns>', 'namespace', 'default')
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .exitOverride();

program
  .command('up')
  .description(
    'start the control plane in the background, apply a manifest and wait until its clusters are ready',
  )
  .option('-f, --filename <file>', 'manifest to apply')
  .option('--timeout <duration>', 'how long to wait for readiness', '300s')
  .action(async (o) =>
    (await cli.lifecycle()).upCommand(
      await context(program.opts()),
      o.filename,
      await parseDuration(o.timeout),
    ),
  );

program
  .command('down')
  .description('stop every instance, the services and the control plane (data is kept)')
  .action(async () => (await cli.lifecycle()).downCommand(await context(program.opts())));

program
  .command('operator')
  .description('run the control plane in the foreground')
  .action(async () => {
    const home = resolveHome(program.opts().home, process.env);
    await (await cli.roles()).runOperator(home, ENTRY);
  });

program
  .command('apply')
  .description('create or change resources from a manifest')
  .requiredOption('-f, --filename <file>', 'manifest file, or - for stdin')
  .option('--dry-run', 'validate only')
  .action(async (o) => {
    await (await cli.apply()).applyFile(await context(program.opts()), o.filename, o.dryRun === true);
  });

program
  .command('get')
  .description('list or show resources: clusters, secrets, services, instances')
  .argument('<kind>')
  .argument('[name]')
  .option('-o, --output <format>', 'json | yaml | wide | jsonpath=TEMPLATE')
  .action(async (kind, name, o) =>
    (await cli.get()).getCommand(await context(program.opts()), kind, name, o.output),
  );

program
  .command('delete')
  .description('delete a resource (a cluster: stop its instances and remove its data)')
  .argument('<kind>')
  .argument('<name>')
  .option('--no-wait', 'return once the deletion is requested')
  .option('--timeout <duration>', 'how long to wait', '300s')
  .action(async (kind, name, o) => {
    const ctx = await context(program.opts());
    await ctx.platform.controlPlane().delete(kind, ctx.namespace, name);
    if (/^clusters?$/i.test(kind) && o.wait !== false) {
      await (await cli.wait()).waitForDeletion(ctx, name, await parseDuration(o.timeout));
    }
    io.out(`${kind.replace(/s$/, '')}/${name} deleted`);
  });

program
  .command('status')
  .description('cluster status: instances, roles, LSNs, lag, timeline, services')
  .argument('<cluster>')
  .option('-o, --output <format>', 'json')
  .action(async (cluster, o) =>
    (await cli.status()).statusCommand(await context(program.opts()), cluster, o.output),
  );

program
  .command('wait')
  .description('wait for a condition of a cluster')
  .argument('<cluster>')
  .addOption(
    new Option('--for <condition>', 'condition to wait for')
      .choices(['ready'] as const)
      .default('ready' as const),
  )
  .option('--timeout <duration>', 'how long to wait', '300s')
  .action(async (cluster, o) => {
    await (await cli.wait()).waitForReady(
      await context(program.opts()),
      cluster,
      await parseDuration(o.timeout),
    );
    io.out(`cluster/${cluster} condition met: ${o.for}`);
  });

program
  .command('fence')
  .description(
    "fence (stop PostgreSQL, keep the data, leave the services) or unfence an instance, or '*' for all",
  )
  .addArgument(new Argument('<on|off>').choices(['on', 'off'] as const))
  .argument('<cluster>')
  .argument('<instance>', "an instance name, or '*'")
  .action(async (mode, cluster, instance) => {
    const ctx = await context(program.opts());
    const r = await ctx.platform.controlPlane().fence(ctx.namespace, cluster, instance, mode === 'on');
    io.out(`cluster/${cluster} fenced instances: ${r.fenced.length > 0 ? r.fenced.join(', ') : '(none)'}`);
  });

program
  .command('backup')
  .description(
    'take a base backup of CLUSTER now (creates a Backup named CLUSTER-YYYYMMDDHHMMSS and follows it to the end)',
  )
  .argument('<cluster>')
  .option(
    '--target <target>',
    'primary, or prefer-standby (a ready standby if there is one); default: spec.backup.target',
  )
  .option('--backup-name <name>', 'the name of the Backup object')
  .option('--timeout <duration>', 'how long to follow it', '1h')
  .option('--no-wait', 'return once the Backup is created')
  .action(async (cluster, o) => {
    const ctx = await context(program.opts());
    await (await cli.backup()).backupCommand(ctx, cluster, {
      target: o.target,
      name: o.backupName,
      wait: o.wait !== false,
      timeoutMs: await parseDuration(o.timeout),
      now: new Date(),
    });
  });

program
  .command('promote')
  .description(
    'switchover: make INSTANCE the primary (the primary checkpoints and shuts down cleanly, INSTANCE receives all its WAL and promotes)',
  )
  .argument('<cluster>')
  .argument('<instance>')
  .option('--timeout <duration>', 'how long to wait for the switchover', '120s')
  .option('--no-wait', 'return once the switchover is requested')
  .action(async (cluster, instance, o) => {
    const ctx = await context(program.opts());
    const r = await ctx.platform.controlPlane().promote(ctx.namespace, cluster, instance);
    if (r.alreadyPrimary) {
      io.out(`cluster/${cluster}: ${instance} is already the primary`);
      return;
    }
    if (o.wait !== false) {
      const started = Date.now();
      await (await cli.wait()).waitForPrimary(ctx, cluster, instance, await parseDuration(o.timeout));
      io.out(
        `cluster/${cluster}: switchover from ${r.from} to ${instance} done in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      return;
    }
    io.out(`cluster/${cluster}: switchover from ${r.from} to ${instance} requested`);
  });

program
  .command('reload')
  .description("reload every instance's configuration now (as `kubectl cnpg reload`)")
  .argument('<cluster>')
  .action(async (cluster) => {
    const ctx = await context(program.opts());
    const r = await ctx.platform.controlPlane().reload(ctx.namespace, cluster);
    io.out(`cluster/${cluster} reloaded: ${r.reloaded.join(', ') || '(no instance)'}`);
  });

program
  .command('psql')
  .description('run psql on the primary (or a replica) as the superuser')
  .argument('<cluster>')
  .option('--replica', 'connect to a replica')
  .argument('[args...]', 'arguments for psql (after --)')
  .action(async (cluster, args, o) => {
    exitCode = await (await cli.psql()).psqlCommand(
      await context(program.opts()),
      cluster,
      o.replica === true,
      args,
    );
  });

program
  .command('logs')
  .description("the JSON logs of a cluster's instances (PostgreSQL's own log included)")
  .argument('<cluster>')
  .argument('[instance]')
  .option('-f, --follow', 'keep printing new lines')
  .action(async (cluster, instance, o) =>
    (await cli.logs()).logsCommand(await context(program.opts()), cluster, instance, o.follow === true),
  );

program
  .command('router', { hidden: true })
  .description('run the services router (started by the control plane)')
  .action(async () => (await cli.routerRole()).runRouter(resolveHome(program.opts().home, process.env)));

program
  .command('instance', { hidden: true })
  .description('run an instance manager (started by the control plane)')
  .requiredOption('--cluster <name>')
  .requiredOption('--instance <name>')
  .action(async (o) =>
    (await cli.instanceRole()).runInstance(
      resolveHome(program.opts().home, process.env),
      program.opts().namespace ?? 'default',
      o.cluster,
      o.instance,
    ),
  );

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // --help and --version exit 0; usage errors are user errors.
      process.exitCode = e.exitCode === 0 ? 0 : 1;
      return;
    }
    if (err instanceof UserError || (err instanceof ControlPlaneError && err.category === 'user')) {
      io.err(`error: ${(err as Error).message}`);
      process.exitCode = 1;
      return;
    }
    const msg = (err as Error).message ?? String(err);
    // Errors with a PGHERD_ code raised by the platform (no postgres, home not reachable) are
    // the user's to fix.
    if (
      /^PGHERD_LOCAL_(NO_POSTGRES|HOME_NOT_TRAVERSABLE|NO_POSTGRES_USER|OPERATOR_RUNNING|UNSAFE_PATH|PORT_RANGE|CERTIFICATE_POLICY|ROUTER_MODE)/.test(
        msg,
      )
    ) {
      io.err(`error: ${msg}`);
      process.exitCode = 1;
      return;
    }
    io.err(`internal error: ${msg}`);
    if (process.env['PGHERD_DEBUG']) io.err((err as Error).stack ?? '');
    process.exitCode = 2;
    return;
  }
  process.exitCode = exitCode;
}

await main();
