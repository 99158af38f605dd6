import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nestedDeeper, tooDeep } from "./body.js";

describe("body depth", () => {
  it("counts a parsed value's nesting as the character scan counts its text", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, max) => {
        const text = JSON.stringify(value);
        expect(nestedDeeper(JSON.parse(text), max)).toBe(tooDeep(text, max));
      }),
      { numRuns: 300 },
    );
  });

  it("walks far past the stack's depth without recursing", () => {
    const levels = 200_000;
    const text = `${"[".repeat(levels)}${"]".repeat(levels)}`;
    expect(nestedDeeper(JSON.parse(text), 100)).toBe(true);
    expect(nestedDeeper(JSON.parse(text), levels)).toBe(false);
  });
});
