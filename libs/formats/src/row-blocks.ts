import { sharedFloat32 } from './shared-floats';
/**
 * Collects fixed-length float rows whose count is unknown until the end of a
 * stream, then hands back one contiguous row-major Float32Array.
 *
 * Why blocks rather than a doubling array: doubling peaks at 3x the final size
 * (old + new buffer, new up to 2x too big) and needs a trimming copy; blocks of
 * a few MB peak at 2x (the blocks plus the final array, once, at the end).
 */
const BLOCK_BYTES = 8 << 20;

export class RowBlocks {
  private readonly blockRows: number;
  private blocks: Float32Array[] = [];
  private current: Float32Array;
  private inCurrent = 0;
  private total = 0;

  constructor(readonly rowLength: number) {
    this.blockRows = Math.max(1, Math.floor(BLOCK_BYTES / 4 / Math.max(1, rowLength)));
    this.current = new Float32Array(this.blockRows * rowLength);
  }

  get rows(): number {
    return this.total;
  }

  append(row: Float32Array): void {
    if (this.inCurrent === this.blockRows) {
      this.blocks.push(this.current);
      this.current = new Float32Array(this.blockRows * this.rowLength);
      this.inCurrent = 0;
    }
    this.current.set(row, this.inCurrent * this.rowLength);
    this.inCurrent++;
    this.total++;
  }

  /** The rows as one array; the blocks are dropped afterwards. */
  toArray(): Float32Array {
    const out = sharedFloat32(this.total * this.rowLength);
    let offset = 0;
    for (const block of this.blocks) {
      out.set(block, offset);
      offset += block.length;
    }
    out.set(this.current.subarray(0, this.inCurrent * this.rowLength), offset);
    this.blocks = [];
    this.current = new Float32Array(0);
    this.inCurrent = 0;
    return out;
  }
}
