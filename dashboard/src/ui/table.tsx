import type { ComponentChildren } from "preact";

export interface Column<T> {
  header: ComponentChildren;
  cell: (row: T) => ComponentChildren;
  class?: string;
}

/** A scrollable table with column headers; each row keyed by `rowKey`. */
export function Table<T>({ rows, columns, rowKey, caption, class: className }: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  caption?: string;
  class?: string;
}) {
  return (
    <div class="table-wrap">
      <table class={className}>
        {caption && <caption class="sr-only">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c, i) => <th key={i} scope="col">{c.header}</th>)}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c, i) => <td key={i} class={c.class}>{c.cell(row)}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
