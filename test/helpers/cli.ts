/**
 * The command line as users run it: bin/cmir.js (dist/ when compiled and current, else the sources) in a child
 * process, on the embedded database unless a test's environment names another.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

export const CMIR_BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'cmir.js');

const execFileAsync = promisify(execFile);

/** What one command printed and its exit status. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Appended as `--home DIR`; none for commands that open no home (--version, --help). */
  home?: string | null;
  /** Set over process.env (see cliEnv). */
  env?: NodeJS.ProcessEnv;
}

/** The environment a command runs with: this process's, with DATABASE_URL empty (the embedded database), then `env`. */
export function cliEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, DATABASE_URL: '', ...env };
}

const withHome = (args: readonly string[], home: string | null | undefined) => [CMIR_BIN, ...args, ...(home ? ['--home', home] : [])];

/** A failed execFile: the child ran and exited with this status (not a signal, not a failure to start). */
function isExit(e: unknown): e is { code: number; stdout: string; stderr: string } {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number' && typeof (e as { stdout?: unknown }).stdout === 'string';
}

/**
 * Runs `cmir ARGS [--home HOME]` to its end and returns its exit status and output; a non-zero status is a result,
 * not an error. A process that could not start or was killed by a signal rejects (no exit status to assert on).
 */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, withHome(args, options.home), { env: cliEnv(options.env) });
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (isExit(e)) return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    throw e;
  }
}

/** Starts `cmir ARGS [--home HOME]` and returns the running child (its output is the caller's to read). */
export function spawnCli(args: readonly string[], options: CliOptions = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, withHome(args, options.home), { env: cliEnv(options.env) });
}

/** A TCP port nobody listens on now (the OS picks it). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export interface ServeOptions {
  env?: NodeJS.ProcessEnv;
  /** Passed as `--host`; none: the server's default. */
  host?: string;
  /** How long it may take to say it serves. */
  timeoutMs: number;
}

export interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  port: number;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** SIGTERM, and waits for it to exit (nothing when it has exited already). */
  stop(): Promise<void>;
}

/**
 * Starts `cmir serve --port P [--host H] --home HOME` on a free port and resolves once it prints "cmir serving"; if it
 * exits first or takes longer than `timeoutMs`, it is stopped and the promise rejects with what it printed.
 */
export async function startServe(home: string, options: ServeOptions): Promise<RunningCli> {
  const port = await freePort();
  const child = spawnCli(['serve', '--port', String(port), ...(options.host ? ['--host', options.host] : [])], { home, env: options.env });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (out += c));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cmir serve did not start: ${out}`)), options.timeoutMs);
      child.stdout.on('data', () => {
        if (out.includes('cmir serving')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        reject(new Error(`cmir serve exited: ${out}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, port, output: () => out, stop };
}
