import { describe, expect, it } from 'vitest';
import { intFlag, parseFlags } from './flags.js';

const specs = {
  source: { type: 'string', help: '' },
  'allow-unauthenticated': { type: 'bool', help: '' },
  'set-env-vars': { type: 'list', help: '' },
  concurrency: { type: 'string', help: '' },
} as const;

describe('parseFlags', () => {
  it('reads values, booleans, negations and lists', () => {
    const p = parseFlags(['hello', '--source', 'app', '--no-allow-unauthenticated', '--set-env-vars=A=1,B=2', '--set-env-vars', 'C=3'], specs);
    expect(p.positionals).toEqual(['hello']);
    expect(p.flags).toEqual({ source: 'app', 'allow-unauthenticated': false, 'set-env-vars': ['A=1', 'B=2', 'C=3'] });
  });

  it('names unknown flags with a suggestion', () => {
    expect(() => parseFlags(['--sorce', 'x'], specs)).toThrow(/unknown flag --sorce; did you mean --source\?/);
    expect(() => parseFlags(['--zzzzzz'], specs)).toThrow(/unknown flag --zzzzzz \(see --help\)/);
  });

  it('needs values for value flags', () => {
    expect(() => parseFlags(['--source'], specs)).toThrow(/--source needs a value/);
    expect(() => parseFlags(['--source', '--concurrency', '3'], specs)).toThrow(/--source needs a value/);
  });

  it('checks ranges with the flag name', () => {
    const p = parseFlags(['--concurrency', '2000'], specs);
    expect(() => intFlag(p, 'concurrency', 1, 1000)).toThrow('--concurrency must be a whole number from 1 to 1000; got "2000"');
    expect(intFlag(parseFlags(['--concurrency', '5'], specs), 'concurrency', 1, 1000)).toBe(5);
  });
});
