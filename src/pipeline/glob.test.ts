import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { globToRegExp } from './glob.js';

/** The keys of `keys` that `glob` selects. */
function selected(glob: string, keys: string[]): string[] {
  const re = globToRegExp(glob);
  return keys.filter((key) => re.test(key));
}

describe('globToRegExp', () => {
  test('**/{a*,b}.jpg: a wildcard inside braces stays a wildcard, at any depth, any case', () => {
    const keys = ['b.jpg', 'x/apple.jpg', 'x/y/Avocado.JPG', 'x/ab.jpg', 'x/c.jpg', 'x/ba.jpg', 'x/b.png'];
    assert.deepEqual(selected('**/{a*,b}.jpg', keys), ['b.jpg', 'x/apple.jpg', 'x/y/Avocado.JPG', 'x/ab.jpg']);
  });

  test('{*.jpg,*.png}: alternatives made of wildcards, not a raw SyntaxError', () => {
    const keys = ['a.jpg', 'b.PNG', 'c.gif', 'd/a.jpg'];
    assert.deepEqual(selected('{*.jpg,*.png}', keys), ['a.jpg', 'b.PNG']);
  });

  test('what the hand-written matcher did still holds: ** spans no folder too, * stops at /, braces, any case', () => {
    const keys = ['top.jpg', 'Class B 1/x.JPG', 'Class B 1/sub/y.jpg', '.cache/z.jpg', 'Class A 1/x.jpg'];
    assert.deepEqual(selected('**/*.jpg', keys), keys);
    assert.deepEqual(selected('Class B 1/*.{jpg,JPG}', keys), ['Class B 1/x.JPG']);
    assert.deepEqual(selected('Class ? 1/**', keys), ['Class B 1/x.JPG', 'Class B 1/sub/y.jpg', 'Class A 1/x.jpg']);
  });

  test('an invalid pattern is a GlobPatternError with one line naming --glob and the pattern', () => {
    for (const glob of ['{*.jpg', 'Class [B 1/*.jpg', '[z-a].jpg']) {
      assert.throws(
        () => globToRegExp(glob),
        (error: Error) => {
          assert.equal(error.name, 'GlobPatternError', glob);
          assert.ok(error.message.startsWith(`--glob ${glob}: `), error.message);
          assert.ok(!error.message.includes('\n'), error.message);
          return true;
        },
      );
    }
  });
});
