// The object an editor starts on when none is chosen: the CRM's contacts.
import { useEffect } from "react";
import { useMe } from "../../../../api/session";
import { sameJson } from "./filter";

export function defaultObject(crm: string | undefined): string {
  return crm === "salesforce" ? "Contact" : "contacts";
}

/** Fills an empty `object` with the account's contacts object (and that object's starter config). */
export function useDefaultObject<C extends { object: string }>(config: C, onChange: (c: C) => void, starter: (object: string) => C, readOnly: boolean) {
  const crm = useMe().data?.account.crm;
  const missing = !config.object && Boolean(crm) && !readOnly;
  useEffect(() => {
    if (!missing) return;
    const object = defaultObject(crm);
    onChange(sameJson(config, starter("")) ? starter(object) : { ...config, object });
  }, [missing, crm, config, onChange, starter]);
}
