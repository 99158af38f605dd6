import { Box } from "ink";
import type { HeaderView } from "./feed-view.js";
import { Line } from "./Line.js";
import { headerLines } from "./panel-lines.js";

/** Two lines: where and whether we are connected, then the rolling numbers and today's spend. */
export function Header({
  view,
  width,
  pausedNew,
}: {
  view: HeaderView;
  width: number;
  pausedNew: number | null;
}) {
  const [first, second] = headerLines(view, width, { pausedNew });
  return (
    <Box flexDirection="column" width={width}>
      <Line segments={first!} />
      <Line segments={second!} />
    </Box>
  );
}
