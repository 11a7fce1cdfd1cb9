// Whether the CRM's automation may start recipes, in one line on the recipe screens, with
// the way to change it (Settings → CRM account) for those who can.
import { Alert, Anchor, Text } from "@mantine/core";
import { Link } from "react-router";
import type { Me } from "../../api/session";
import { mayManageAutomation } from "./api";
import type { Automation } from "./logic";

export function AutomationNote({ me, automation }: { me: Me; automation: Automation | undefined }) {
  const caller = me.account.crm === "hubspot" ? "HubSpot workflows" : "Salesforce Flows";
  if (!mayManageAutomation(me)) {
    return (
      <Text size="sm" c="gray.7">
        Whether {caller} may start recipes is set by an owner or admin in Settings → CRM account.
      </Text>
    );
  }
  if (!automation) return null;
  const settings = (
    <Anchor component={Link} to="/settings/accounts" c="inherit" underline="always" fw={500}>
      Settings → CRM account
    </Anchor>
  );
  if (automation.active) {
    return (
      <Alert color="green" variant="light" title="CRM automation is on" role="status">
        {caller} can start these recipes: {me.account.crm === "hubspot" ? "the workflow action “Steward: Run recipe” lists them" : "a Flow calls a recipe's endpoint, shown beside its ID"}. The signing secret and its
        rotation are in {settings}.
      </Alert>
    );
  }
  return (
    <Alert color="gray" variant="light" title="CRM automation is off" role="status">
      Recipes run only when someone chooses Run now. To let {caller} start them, activate CRM automation in {settings}.
    </Alert>
  );
}
