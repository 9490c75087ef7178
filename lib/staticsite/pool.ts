// The shared serving pool's identity: what the operator names and labels its
// pods with, and what the dashboard's tenant NetworkPolicy selects them by.
// Both sides import it from here, so the policy cannot drift from the pods.
import { LABEL_NAME } from "./types";

export const POOL_NAME = "pagoda-pool";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
export const POOL_COMPONENT = "serving-pool";

/** The pods' labels: no `managed-by`, so the site Pod cache never holds them; the pool's own Pod watch selects them by name. */
export const POOL_POD_LABELS: Readonly<Record<string, string>> = { [LABEL_NAME]: POOL_NAME, [LABEL_COMPONENT]: POOL_COMPONENT };
export const POOL_POD_SELECTOR = `${LABEL_NAME}=${POOL_NAME},${LABEL_COMPONENT}=${POOL_COMPONENT}`;

/** Name of the pool pods' port that hands dedicated sites' pods their deploy. */
export const POOL_MIRROR_PORT_NAME = "mirror";
