import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend, type BackendPreference } from './backend';

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
      await expect(initBackend('tensorflow')).rejects.toThrow(
        /initBackend: backend 'tensorflow' is not available/,
      );
      expect(tf.getBackend()).toBe('wasm'); // unchanged
    }
  });

  it('should reject an unknown backend name', async () => {
    await expect(initBackend('webgl' as BackendPreference)).rejects.toThrow(
      /initBackend: unknown backend 'webgl'/,
    );
  });
});
