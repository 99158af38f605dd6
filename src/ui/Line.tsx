import { Text } from "ink";
import { type Segment, theme } from "./theme.js";

/** One line of coloured segments; never wraps (layout already fitted it). */
export function Line({ segments }: { segments: Segment[] }) {
  return (
    <Text wrap="truncate">
      {segments.length === 0
        ? " "
        : segments.map((s, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional and never reorder.
            <Text key={i} color={s.role ? theme[s.role] : undefined} bold={s.bold ?? false}>
              {s.text}
            </Text>
          ))}
    </Text>
  );
}

/** `count` lines, padded with blanks so panels keep their height. */
export function Lines({ lines, count }: { lines: Segment[][]; count: number }) {
  const shown = lines.slice(0, count);
  while (shown.length < count) shown.push([]);
  return (
    <>
      {shown.map((segments, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are rows of a fixed-height panel.
        <Line key={i} segments={segments} />
      ))}
    </>
  );
}
