/** Whether a command is on PATH (tests that need a Debian tool skip with the reason when it is not). */
import { execFileSync } from 'node:child_process';

export function which(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
