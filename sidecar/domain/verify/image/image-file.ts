/** Plumbing every format check shares: the file read in pieces, and the two kinds of problem a check finds. */
import type { FileHandle } from 'node:fs/promises';

/** What a format check reads from a good file. */
export interface Image {
  format: string;
  width: number;
  height: number;
}
export type Check = (file: ImageFile, head: Buffer) => Promise<Image>;

/** What is wrong with a file; `checkImage` prefixes the file name to make the sentence. */
export class ImageProblem extends Error {}
export const truncated = (what: string) => new ImageProblem(`is truncated: ${what}`);
export const corrupt = (what: string) => new ImageProblem(`is not a valid image: ${what}`);
/** Truncation found by comparing a length the file declares (or implies) with its real size. */
export const shortOf = (file: ImageFile, what: string, needed: number) =>
  truncated(`${what} calls for ${needed} bytes, but the file has only ${file.size}`);

/** Random access to the file, so a 200 MB EXR costs a few small reads rather than a full one. */
export class ImageFile {
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Exactly `length` bytes at `offset`; if the file ends sooner it is truncated, and `what` says what was cut off. */
  async bytes(offset: number, length: number, what: string): Promise<Buffer> {
    if (offset + length > this.size) throw truncated(`${what} runs past the end of the file (${this.size} bytes)`);
    const buffer = Buffer.alloc(length);
    await this.handle.read(buffer, 0, length, offset);
    return buffer;
  }

  /** Up to `length` bytes from the start; shorter when the file is. */
  head(length: number): Promise<Buffer> {
    return this.bytes(0, Math.min(length, this.size), 'the header');
  }

  all(): Promise<Buffer> {
    return this.bytes(0, this.size, 'the file');
  }
}
