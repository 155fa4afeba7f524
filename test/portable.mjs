// Which test suites run where there is no Blender and no .blend corpus: the GitHub workflow's macOS and Windows jobs
// (`npm run test:portable`). The sidecar itself runs without Blender (it raises an alert and serves everything else),
// so whole folders qualify; what is left out is named here with the reason, so that a reader sees what is not
// covered on each platform. A new file in a portable folder runs there by default: if it starts Blender, the portable
// job fails and the file belongs in NEEDS_BLENDER below.

/** Folders (or files) whose suites need no Blender. */
const PORTABLE = [
  'test/unit/',
  'test/rpc/',
  'test/cli/call.test.ts',
  'test/farm/flamenco-job.test.ts',
  'test/farm/slurm-states.test.ts',
  'test/addon/platform.test.ts',
  'test/addon/wire.test.ts',
];

/**
 * Left out everywhere: they start Blender or read the corpus (shared/corpus, which the workflow does not fetch). Found
 * by running `BLENDER=/nonexistent/blender npm run test:portable` on Linux: every other file passes there.
 */
const NEEDS_BLENDER = {
  'test/unit/blend-header.test.ts': 'reads the .blend corpus',
  'test/unit/verify-gltf.test.ts': 'exports its reference glTF with Blender',
  'test/unit/verify-image.test.ts': 'writes its reference images with Blender',
  'test/rpc/state-faults.test.ts': 'renders while its tmpfs state folder fills up (and mounts tmpfs, as root, on Linux)',
};

/** Left out on macOS and Windows: they check what only Linux has. */
const LINUX_ONLY = {
  'test/rpc/metrics.test.ts': "expects prom-client's process metrics, which read /proc",
  'test/rpc/state-lock.test.ts': 'tells a reused pid from its owner by the start time in /proc',
};

/** Left out on Windows: they check POSIX behaviour Windows does not have (signals a process can handle, modes, x bits). */
const POSIX_ONLY = {
  'test/rpc/discovery-file.test.ts': 'checks the clean exit on SIGTERM/SIGINT and the 0600/0700 modes',
  'test/rpc/gn-journal-size.test.ts': 'stops the sidecar with SIGTERM and expects its clean exit',
  'test/rpc/gn-persist.test.ts': 'stops the sidecar with SIGTERM and expects its clean exit',
  'test/cli/call.test.ts': 'stops `serve` with SIGTERM and expects its clean exit',
  'test/unit/locate.test.ts': 'makes executables with chmod and #! scripts',
  'test/addon/wire.test.ts': 'stops the sidecar with SIGTERM and expects its shutdown notice',
};

/** Whether `file` (a path relative to the repository, with /) is in one of the portable folders. */
export function inPortableFolders(file) {
  return PORTABLE.some((p) => file.startsWith(p));
}

/** Why a file of the portable folders is still left out on `platform` (a process.platform value); undefined: it runs. */
export function leftOutReason(file, platform) {
  if (NEEDS_BLENDER[file]) return NEEDS_BLENDER[file];
  if (platform !== 'linux' && LINUX_ONLY[file]) return LINUX_ONLY[file];
  if (platform === 'win32' && POSIX_ONLY[file]) return POSIX_ONLY[file];
  return undefined;
}
