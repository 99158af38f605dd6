import { Box } from "ink";
import { Line } from "./Line.js";
import { footerLine } from "./panel-lines.js";

interface Props {
  editing: boolean;
  draft: string;
  filter: string;
  paused: boolean;
  width: number;
}

/** The bottom line: the filter being typed, the filter in force, or the keys. */
export function FilterBar({ width, ...state }: Props) {
  return (
    <Box width={width}>
      <Line segments={footerLine(state, width)} />
    </Box>
  );
}
