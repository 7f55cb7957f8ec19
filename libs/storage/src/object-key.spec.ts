import { describe, expect, it } from 'vitest';
import { InvalidKeyError } from './errors';
import { assertValidKey, assertValidPrefix } from './object-key';
import { objectKeyFromUrl } from './transfer';

describe('object keys', () => {
  it.each([
    'institutions/a/datasets/d1/x.h5ad',
    'federations/f/models/round-00001/weights.bin',
    'a',
    '..hidden/file..txt',
    'with space/é/(1)+2',
  ])('accepts %j', (key) => {
    expect(() => assertValidKey(key)).not.toThrow();
  });

  it.each([
    ['', 'empty'],
    ['/abs', 'absolute'],
    ['..', '".." segment'],
    ['a/../b', '".." segment'],
    ['./a', '"." segment'],
    ['a//b', 'empty path segment'],
    ['a/', 'empty path segment'],
    ['a\\..\\b', 'backslash'],
    ['a\nb', 'control character'],
    ['x'.repeat(1025), 'longer than 1024 bytes'],
  ])('refuses %j (%s)', (key, reason) => {
    expect(() => assertValidKey(key)).toThrow(InvalidKeyError);
    expect(() => assertValidKey(key)).toThrow(reason);
  });

  it('checks prefixes segment by segment, except the last, partial one', () => {
    for (const ok of ['', 'institutions/', 'institutions/a', 'institutions/a/', 'a/..b', 'a/.']) {
      expect(() => assertValidPrefix(ok)).not.toThrow();
    }
    for (const bad of ['/', '/a', '../', 'a/../', 'a//', './a', 'a\\']) {
      expect(() => assertValidPrefix(bad)).toThrow(InvalidKeyError);
    }
  });
});

describe('objectKeyFromUrl', () => {
  it('reads the key of a path-style presigned URL without its query', () => {
    expect(
      objectKeyFromUrl(
        'http://127.0.0.1:9000/bucket/institutions/a/d%20(1).csv?X-Amz-Signature=abc&X-Amz-Date=x',
      ),
    ).toBe('institutions/a/d (1).csv');
  });
  it('says unknown rather than echoing a malformed URL', () => {
    expect(objectKeyFromUrl('not a url?X-Amz-Signature=secret')).toBe('(unknown)');
    expect(objectKeyFromUrl('http://host/bucket-only')).toBe('(unknown)');
  });
});
