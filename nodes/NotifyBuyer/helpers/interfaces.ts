import type { SmtpConfig } from '../../core/outbound';
import type { StoreSetup } from '../../shared/runner';
import type { shopTargetFromCredentials } from '../../shared/shopApi';

/** The store, opened once per execution; a channel's credentials are read when an item first uses it. */
export interface NotifySetup extends StoreSetup {
	smtp?: SmtpConfig;
	shop?: ReturnType<typeof shopTargetFromCredentials>;
}
