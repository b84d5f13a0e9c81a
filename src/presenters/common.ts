/** What every presenter shares: instants on the wire, and the timestamps records carry. */
import { Instant, Nullable } from '../schema/types.ts';

/** An instant as the API writes it: ISO 8601 in UTC with milliseconds; null stays null. */
export function iso(at: Date): string;
export function iso(at: Date | null): string | null;
export function iso(at: Date | null): string | null {
  return at ? at.toISOString() : null;
}

export const NullableInstant = () => Nullable(Instant());

/** `created_at` and `updated_at`, as most records carry them. */
export const timestamps = () => ({ created_at: Instant(), updated_at: Instant() });
