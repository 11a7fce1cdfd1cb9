// Placeholder until the grid editor lands: the contract it fills (see ../types.ts).
import { Text } from "@mantine/core";
import type { Configs, EditorProps } from "../types";

export function emptyConfig(object: string): Configs["grid"] {
  return { object, columns: [] };
}

export function GridEditor(_props: EditorProps<Configs["grid"]>) {
  return <Text c="dimmed">The grid editor is being built.</Text>;
}

export type GridEdit = import("../../../../api/schema").components["schemas"]["CellEditInput"];
/** Grid's extra props: the cells edited so far (what a grid run applies). */
export interface GridEditsProps {
  edits: GridEdit[];
  onEditsChange: (edits: GridEdit[]) => void;
}
