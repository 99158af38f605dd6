import { Box } from "ink";
import type { RequestRow } from "./feed-view.js";
import { Line, Lines } from "./Line.js";
import { headerSegments, rowSegments, tableColumns } from "./layout.js";
import { titleLine } from "./panel-lines.js";

interface Props {
  rows: RequestRow[];
  totalRows: number;
  width: number;
  height: number;
  focused: boolean;
  offset: number;
  filter: string;
}

/** Requests, newest first: in flight ("…") then finished; errors red. `height` counts data rows. */
export function RequestTable({ rows, totalRows, width, height, focused, offset, filter }: Props) {
  const columns = tableColumns(width);
  const start = Math.max(0, Math.min(offset, rows.length - height));
  const running = rows.filter((r) => r.status === null).length;
  const detail = [
    running ? `${running} in flight` : "",
    filter ? `${rows.length} of ${totalRows} match "${filter}"` : `${totalRows} seen`,
    start > 0 ? `↑ ${start} newer` : "",
  ]
    .filter(Boolean)
    .join(" · ");
  const visible = rows.slice(start, start + height).map((row) => rowSegments(row, columns));
  if (!rows.length)
    visible.push([
      { text: filter ? "no request matches the filter" : "waiting for requests…", role: "muted" },
    ]);
  return (
    <Box flexDirection="column" width={width}>
      <Line segments={titleLine("Requests", detail, width, focused)} />
      <Line segments={headerSegments(columns)} />
      <Lines lines={visible} count={height} />
    </Box>
  );
}
