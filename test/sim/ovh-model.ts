import type { DnsRecord } from './dns.ts';
import { TaskBook, type Timing } from './ovh-common.ts';
import { DkimRobot } from './ovh-dkim.ts';
import { KeyServer } from './ovh-keys.ts';
import { MxPlan } from './ovh-mxplan.ts';
import { MailServices } from './ovh-services.ts';
import { Zones } from './ovh-zones.ts';

/**
 * The state of one OVH account as the simulator keeps it: tasks, DKIM keys served under dkim.mail.ovh.net, DNS
 * zones (and records at other hosts), Exchange and Email Pro domains with their per-selector DKIM robot, and MX Plan
 * domains with their one-switch robot. Time only moves with `timing.now()`; `settle()` applies what is due.
 */
export class OvhModel {
  readonly tasks: TaskBook;
  readonly keys = new KeyServer();
  readonly zones: Zones;
  readonly services: MailServices;
  readonly dkim: DkimRobot;
  readonly mxPlan: MxPlan;
  private nextSelectorNumber = 123_456;

  constructor(readonly timing: Timing) {
    const prefix = (kind: string) => `${kind}${this.nextSelectorNumber++}`;
    this.tasks = new TaskBook(timing);
    this.zones = new Zones(timing, this.keys);
    this.services = new MailServices(prefix);
    this.dkim = new DkimRobot(timing, this.zones, this.keys, this.tasks);
    this.mxPlan = new MxPlan(timing, this.zones, this.keys, this.tasks, () => prefix('ovhmo'));
  }

  settle(): void {
    this.dkim.settle();
    this.mxPlan.settle();
    this.tasks.settle();
  }

  /** What DNS answers at `name` now (null: NXDOMAIN), without CNAME chasing. */
  lookup(name: string): DnsRecord[] | null {
    this.settle();
    return this.zones.lookup(name);
  }
}
