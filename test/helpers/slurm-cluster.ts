/**
 * A real one-node Slurm cluster for tests (../shared/notes/slurm.md has the recipe): its own munge key and socket,
 * slurm.conf, state and spool in a temporary folder, private ports, and daemons started directly (no systemd) as
 * children of the test process, in the foreground, so they can be stopped by pid. `stop()` cancels every job, waits
 * until no task is left, then stops slurmd, slurmctld and munged; it is safe to call twice, and also runs when the
 * test process exits early. Nothing outside the folder is touched: other suites and other users' daemons are left alone.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, chmodSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { until } from './until.js';

export interface SlurmCluster {
  dir: string;
  /** Environment that points Slurm's commands at this cluster (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm command against this cluster; stdout. */
  run(command: string, args: string[]): string;
  /** Task lines of the jobs still pending, running or completing (`%i|%T`), for checks that nothing runs. */
  activeTasks(): string[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function slurmConf(dir: string, node: string, ports: [number, number], minJobAge: number): string {
  const memory = Math.max(1024, Math.floor(Number(readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/)![1]) / 1024) - 2048);
  return `ClusterName=sidecartest
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=${dir}/munge/munge.socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=${dir}/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
EnforcePartLimits=ALL
MailProg=/bin/true
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldLogFile=${dir}/slurmctld.log
SlurmdLogFile=${dir}/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=${minJobAge}
KillWait=5
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus().length} RealMemory=${memory} State=UNKNOWN
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
PartitionName=render Nodes=${node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=1
PartitionName=urgent Nodes=${node} MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=2
`;
}

/**
 * Starts the cluster and waits until its node is idle (a few seconds). `minJobAge`: how long Slurm keeps a finished
 * job listed (seconds; default 300, as a real cluster's default).
 */
export async function startSlurmCluster(options: { minJobAge?: number } = {}): Promise<SlurmCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'slurm-test-'));
  chmodSync(dir, 0o755);
  const children: ChildProcess[] = [];
  const env = { ...process.env, SLURM_CONF: join(dir, 'slurm.conf') };
  const node = hostname().split('.')[0]!;
  let stopped = false;

  const start = (name: string, argv: string[]) => {
    const out = openSync(join(dir, `${name}.out`), 'a');
    // --pdeathsig: a test process killed outright (a runner's timeout) takes its daemons with it.
    const child = spawn('setpriv', ['--pdeathsig', 'SIGTERM', ...argv], { cwd: dir, env, stdio: ['ignore', out, out], detached: true });
    children.push(child);
    return child;
  };
  const killAll = (signal: NodeJS.Signals) => {
    for (const c of [...children].reverse()) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  };
  const onExit = () => killAll('SIGKILL');
  process.once('exit', onExit);

  const run = (command: string, args: string[]) => execFileSync(command, args, { env, encoding: 'utf8', timeout: 30_000 });
  const activeTasks = () => run('squeue', ['-h', '-r', '-t', 'PD,R,CG,CF,S', '-o', '%i|%T|%r']).split('\n').filter(Boolean);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      const ids = [...new Set(run('squeue', ['-h', '-o', '%F']).split('\n').filter(Boolean))];
      if (ids.length > 0) run('scancel', ids);
      // Up to 30 s for the cancelled tasks to end; the daemons are stopped after that either way.
      await until(() => activeTasks().length === 0, { timeoutMs: 30_000, intervalMs: 250, what: 'the cancelled tasks to end' }).catch(
        () => undefined,
      );
    } catch {
      // The controller is not up: nothing can be running.
    }
    killAll('SIGTERM');
    const exited = () => children.every((c) => c.exitCode !== null || c.signalCode !== null);
    await until(exited, { timeoutMs: 10_000, intervalMs: 250, what: 'the daemons to exit on SIGTERM' }).catch(() => undefined);
    killAll('SIGKILL');
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // munge: a private key and socket, the daemon run as the munge user (it refuses to share a key with others).
    const mungeDir = join(dir, 'munge');
    mkdirSync(mungeDir, { mode: 0o755 });
    const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, 'munge'], { encoding: 'utf8' }).trim()));
    execFileSync('mungekey', ['--create', '--keyfile', join(mungeDir, 'munge.key')]);
    for (const p of [mungeDir, join(mungeDir, 'munge.key')]) chownSync(p, uid!, gid!);
    chmodSync(join(mungeDir, 'munge.key'), 0o400);
    start('munged', [
      'setpriv',
      '--pdeathsig',
      'SIGTERM',
      '--reuid=munge',
      '--regid=munge',
      '--init-groups',
      '/usr/sbin/munged',
      '-F',
      `--socket=${mungeDir}/munge.socket`,
      `--key-file=${mungeDir}/munge.key`,
      `--log-file=${mungeDir}/munged.log`,
      `--pid-file=${mungeDir}/munged.pid`,
      `--seed-file=${mungeDir}/munged.seed`,
    ]);
    await until(() => spawnSync('munge', ['-n', '-S', `${mungeDir}/munge.socket`]).status === 0, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: () => `munged to start: ${readFileSync(join(dir, 'munged.out'), 'utf8')}`,
    });
    mkdirSync(join(dir, 'state'));
    mkdirSync(join(dir, 'spool'));
    writeFileSync(join(dir, 'slurm.conf'), slurmConf(dir, node, [await freePort(), await freePort()], options.minJobAge ?? 300));
    start('slurmctld', ['slurmctld', '-D', '-i']);
    start('slurmd', ['slurmd', '-D']);
    let state = '';
    await until(
      () => {
        state = spawnSync('sinfo', ['-h', '-N', '-o', '%t'], { env, encoding: 'utf8' }).stdout.trim();
        return state.split('\n').every((line) => line === 'idle'); // one line per partition
      },
      {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: () => `the Slurm node to become idle (it says "${state}"): ${readFileSync(join(dir, 'slurmctld.out'), 'utf8').slice(-2000)}`,
      },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, env, run, activeTasks, stop };
}

/** The frames in an output folder (the hidden files and the .sidecar-farm folder left out). */
export const images = (dir: string) =>
  readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort();

/** "frame N rendered" lines of every task log of a job: which frames were rendered, and how often. */
export function renderedFrames(farmDir: string): number[] {
  const logs = join(farmDir, 'logs');
  return readdirSync(logs)
    .flatMap((name) =>
      [...readFileSync(join(logs, name), 'utf8').matchAll(/^\[sidecar-farm\] frame (\d+) rendered$/gm)].map((m) => Number(m[1])),
    )
    .sort((a, b) => a - b);
}
