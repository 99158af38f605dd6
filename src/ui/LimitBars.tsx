import { Box } from "ink";
import type { LimitsView } from "./feed-view.js";
import { Line, Lines } from "./Line.js";
import { limitLines, titleLine } from "./panel-lines.js";

interface Props {
  view: LimitsView;
  width: number;
  height: number;
  focused: boolean;
  offset: number;
  now: number;
}

/** Per provider/key: window use as a bar, in flight, queue; then cooling keys and open circuits. */
export function LimitBars({ view, width, height, focused, offset, now }: Props) {
  const lines = limitLines(view, width, now);
  const start = Math.max(0, Math.min(offset, lines.length - height));
  const hidden = lines.length - height - start;
  const detail = [start > 0 ? `↑ ${start}` : "", hidden > 0 ? `↓ ${hidden} more` : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <Box flexDirection="column" width={width}>
      <Line segments={titleLine("Limits", detail, width, focused)} />
      <Lines lines={lines.slice(start)} count={height} />
    </Box>
  );
}
