// The contract between the module page and a module's editor: the editor owns the config's
// shape, the page owns loading, saving and running. `error` is the last API problem: an
// editor shows each `errors[].detail` beside the field its pointer names (pointers are into
// the request body, so a config field is at `/config/...`).
import type { components } from "../../../api/schema";
import type { MergeConfig } from "./merge/config";

type S = components["schemas"];
export interface Configs {
  merge: MergeConfig;
  bulk: S["BulkConfig"];
  transform: S["TransformConfig"];
  grid: S["GridConfig"];
  validate: S["ValidateConfig"];
}

export interface EditorProps<C> {
  config: C;
  onChange: (config: C) => void;
  /** The last failed save or run (an ApiError), for `errorAt(error, "/config/...")`. */
  error: unknown;
  /** The member may read but not write this module. */
  readOnly: boolean;
}
