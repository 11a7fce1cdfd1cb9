// The filter builder, for every editor with a filter (bulk, grid): the component and the
// pure conversions between its state and the API's Filter.
export { FilterBuilder, ScalarInput, ErrorText, type FilterBuilderProps } from "./FilterBuilder";
export * from "./filter";
export { useSynced, useKeyedList, keyed, unkeyed, type Keyed } from "./useSynced";
export { defaultObject, useDefaultObject } from "./defaultObject";
