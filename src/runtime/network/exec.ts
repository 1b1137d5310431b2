/** Run a host tool (ip, nft, mount, runc) and fail with its stderr. */
import { execFile } from 'node:child_process';

export class ToolError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

export function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof err.code === 'number' ? err.code : null;
        const why = stderr.trim() || err.message;
        reject(new ToolError(`${file} ${args.slice(0, 3).join(' ')}: ${why}`, stderr, code));
      } else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
