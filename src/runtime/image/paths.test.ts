import { describe, expect, it } from 'vitest';
import { cleanEntryPath, climbsOut } from './paths.js';

describe('climbsOut', () => {
  it('finds names that climb above the root with ..', () => {
    expect(climbsOut('../x')).toBe(true);
    expect(climbsOut('a/../../x')).toBe(true);
    expect(climbsOut('/../etc/passwd')).toBe(true);
    expect(climbsOut('./a/b/../../..')).toBe(true);
  });

  it('lets names that stay inside through', () => {
    for (const p of ['x', './x', '/x', 'a/../x', 'a/b/../../c', '', '.', '/', 'a/./b/']) expect(climbsOut(p), p).toBe(false);
  });

  it('judges a relative symlink target from the directory of the link', () => {
    // a link at a/b/link (its directory is 2 levels below the root)
    expect(climbsOut('../../x', 2)).toBe(false);
    expect(climbsOut('../../../x', 2)).toBe(true);
    // absolute targets start at the image's root, wherever the link is
    expect(climbsOut('/usr/lib/x', 2)).toBe(false);
    expect(climbsOut('/../x', 2)).toBe(true);
  });
});

describe('cleanEntryPath', () => {
  it('makes names root-relative', () => {
    expect(cleanEntryPath('./usr//bin/')).toEqual(['usr', 'bin']);
    expect(cleanEntryPath('/etc/passwd')).toEqual(['etc', 'passwd']);
    expect(cleanEntryPath('./')).toEqual([]);
  });
});
