/**
 * One time authority (DESIGN.md, invariant 5). Every "now" that decides a due time or
 * whether something is due comes from a Clock that is passed in: tests inject a
 * ManualClock, processes use a clock corrected against Postgres, so an API or worker
 * host whose clock drifted cannot schedule or fire early.
 */
export interface Clock {
  now(): Date;
}

/** A clock that tests move by hand. */
export class ManualClock implements Clock {
  private currentMs: number;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.currentMs = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.currentMs);
  }

  advance(ms: number): Date {
    this.currentMs += ms;
    return this.now();
  }

  set(at: Date | string): void {
    this.currentMs = new Date(at).getTime();
  }
}
