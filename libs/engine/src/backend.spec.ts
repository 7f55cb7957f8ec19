import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { BackendUnavailableError, checkBackendPackage, initBackend, type BackendPreference } from './backend';

describe('initBackend', () => {
  it('should choose a backend by itself and be idempotent', async () => {
    const name = await initBackend();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(name);
    expect(await initBackend()).toBe(name);
    expect(tf.getBackend()).toBe(name);
  });

  it('should use the wasm backend when asked, with SIMD', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    expect(await initBackend('wasm')).toBe('wasm');
    expect(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')).toBe(true);
  });

  it('should switch to cpu and back when asked', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(await initBackend('wasm')).toBe('wasm');
  });

  it('should fail clearly when a preferred native package is not installed', async () => {
    // Only meaningful where @tensorflow/tfjs-node is absent (as in this repository).
    let installed = true;
    try {
      await import(/* @vite-ignore */ ['@tensorflow', 'tfjs-node'].join('/'));
    } catch {
      installed = false;
    }
    if (!installed) {
      const error = await initBackend('tensorflow').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect((error as BackendUnavailableError).installCommand).toBe('npm install @tensorflow/tfjs-node');
      expect((error as Error).message).toMatch(
        /'tensorflow' tensor backend needs .*`npm install @tensorflow\/tfjs-node`/,
      );
      expect(tf.getBackend()).toBe('wasm'); // unchanged
      await expect(checkBackendPackage('tensorflow-gpu')).rejects.toThrow(
        /npm install @tensorflow\/tfjs-node-gpu/,
      );
    }
  });

  it('should not print the "install our node backend" banner on the cpu backend, but keep other warnings', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await initBackend('cpu');
      tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync());
      expect(warn.mock.calls.flat().join('\n')).not.toMatch(
        /looks like you are running TensorFlow\.js in Node\.js/,
      );
      expect(tf.env().getBool('IS_TEST')).toBe(false);
      tf.backend_util.warn('a real warning');
      expect(warn).toHaveBeenCalledWith('a real warning');
    } finally {
      warn.mockRestore();
      await initBackend('wasm');
    }
  });

  it('should reject an unknown backend name', async () => {
    await expect(initBackend('webgl' as BackendPreference)).rejects.toThrow(
      /initBackend: unknown backend 'webgl'/,
    );
  });
});
