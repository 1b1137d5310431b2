/** What every command gets: parsed flags, the environment, output streams, a client. */
import type { Client } from '../client.js';
import type { Parsed } from '../flags.js';
import type { Format } from '../output.js';

export interface Ctx {
  args: Parsed;
  env: NodeJS.ProcessEnv;
  format: Format;
  out: (text: string) => void;
  err: (text: string) => void;
  client: () => Client;
}

export type Command = (ctx: Ctx) => Promise<number>;
