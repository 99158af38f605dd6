import { Box } from "ink";
import type { CostsView } from "./feed-view.js";
import { formatClock } from "./format.js";
import { Line, Lines } from "./Line.js";
import { costLines, titleLine } from "./panel-lines.js";

interface Props {
  view: CostsView;
  width: number;
  height: number;
  focused: boolean;
  offset: number;
  now: number;
}

/** Today's spend: budget bars, then by model and by client, from the usage log once it has answered. */
export function CostPanel({ view, width, height, focused, offset, now }: Props) {
  const midnight = new Date(now).setHours(0, 0, 0, 0);
  const detail =
    view.modelsSince > midnight ? `models since ${formatClock(view.modelsSince).slice(0, 5)}` : "";
  return (
    <Box flexDirection="column" width={width}>
      <Line
        segments={titleLine(
          view.simulated ? "Costs today (simulated)" : "Costs today",
          detail,
          width,
          focused,
        )}
      />
      <Lines lines={costLines(view, width, height, offset)} count={height} />
    </Box>
  );
}
