import { isoDate, type Task } from './ovh-common.ts';
import type { DkimState, MailDomain } from './ovh-dkim.ts';
import { DKIM_HEADER } from './ovh-keys.ts';
import type { OvhModel } from './ovh-model.ts';
import type { MxPlanDomain } from './ovh-mxplan.ts';
import {
  objectBody,
  optionalBoolean,
  type Params,
  type ParsedRequest,
  type Route,
  requiredString,
  route,
} from './ovh-request.ts';

/** The mail offers' routes: Exchange and Email Pro (one DKIM model, two addresses) and MX Plan / Zimbra. */

/** An Exchange task as the first simulator answered it. */
export function taskView(task: Task) {
  return {
    id: task.id,
    function: task.function,
    status: task.status,
    todoDate: task.todoDate,
    finishDate: task.finishDate,
    lastUpdate: task.lastUpdate,
  };
}

/** `email.pro.Task`. */
export function emailProTaskView(task: Task) {
  return {
    id: task.id,
    function: task.function,
    status: task.status,
    todoDate: task.todoDate,
    finishDate: task.finishDate,
  };
}

/** `email.domain.task`. */
export function mxPlanTaskView(task: Task) {
  return { id: task.id, domain: task.domain, function: task.function, status: task.status };
}

/** `email.exchange.dkim` / `email.pro.Dkim`: the same fields. */
export function dkimView(model: OvhModel, state: DkimState) {
  return {
    selectorName: state.selectorName,
    customerRecord: state.customerRecord,
    targetRecord: state.targetRecord,
    recordType: 'CNAME',
    status: state.status,
    cnameIsValid: model.dkim.cnameIsValid(state),
    taskPendingId: state.taskPendingId,
    lastUpdate: isoDate(state.lastUpdate),
    header: DKIM_HEADER,
  };
}

function emailProDomainView(entry: MailDomain) {
  return {
    name: entry.domain,
    cnameToCheck: null,
    domainAliases: [],
    domainValidated: true,
    isAliasDomain: false,
    mxIsValid: false,
    mxRecord: null,
    mxRelay: null,
    srvIsValid: false,
    srvRecord: null,
    state: 'ok',
    taskPendingId: 0,
    type: 'authoritative',
  };
}

function emailProServiceView(service: string) {
  return {
    domain: service,
    displayName: service,
    hostname: 'pro1.mail.ovh.net',
    offer: 'emailpro',
    state: 'ok',
    taskPendingId: 0,
    webUrl: 'https://pro1.mail.ovh.net/owa',
  };
}

function mxPlanDomainView(entry: MxPlanDomain) {
  return {
    domain: entry.domain,
    offer: entry.offer,
    status: 'ok',
    creationDate: null,
    allowedAccountSize: [5_000_000_000],
    filerz: null,
    isMXValid: 'unknown',
    isSPFValid: 'unknown',
    linkTo: null,
    migratedMXPlanServiceName: null,
  };
}

/** The DKIM routes under one address of a mail domain (`base` ends with `/domain/:domain`). */
function dkimRoutes(
  model: OvhModel,
  base: string,
  entryOf: (params: Params) => MailDomain,
  view: (task: Task) => unknown,
): Route[] {
  const create = (params: Params, request: ParsedRequest) => {
    const body = objectBody(request.body);
    const selector = requiredString(body, 'selectorName');
    const configureDkim = optionalBoolean(body, 'configureDkim') ?? false;
    const autoEnable = optionalBoolean(body, 'autoEnableDKIM') ?? false;
    return view(model.dkim.create(entryOf(params), selector, configureDkim, autoEnable));
  };
  const key = (params: Params) => model.dkim.dkim(entryOf(params), params.selector!);
  return [
    route('GET', `${base}/dkimSelector`, (p) => [...entryOf(p).selectors]),
    route('GET', `${base}/dkim`, (p) => [...entryOf(p).dkim.keys()]),
    route('POST', `${base}/dkim`, create),
    route('GET', `${base}/dkim/:selector`, (p) => dkimView(model, model.dkim.read(key(p)))),
    route('DELETE', `${base}/dkim/:selector`, (p) => view(model.dkim.remove(entryOf(p), p.selector!))),
    route('POST', `${base}/dkim/:selector/enable`, (p) => view(model.dkim.enable(entryOf(p), p.selector!))),
    route('POST', `${base}/dkim/:selector/disable`, (p) => view(model.dkim.disable(entryOf(p), p.selector!))),
  ];
}

const EXCHANGE_SERVICE = 'email/exchange/:org/service/:service';
const EMAIL_PRO_SERVICE = 'email/pro/:service';
const MX_PLAN_DOMAIN = 'email/domain/:domain';

export function mailRoutes(model: OvhModel): Route[] {
  const { services, tasks, mxPlan } = model;
  const exchangeDomain = (p: Params) => services.exchangeDomain(p.org!, p.service!, p.domain!);
  const exchangeOwner = (p: Params) => {
    services.exchangeDomains(p.org!, p.service!);
    return `exchange:${p.org}/${p.service}`;
  };
  const emailProDomain = (p: Params) => services.emailProDomain(p.service!, p.domain!);
  const emailProOwner = (p: Params) => {
    services.requireEmailProService(p.service!);
    return `emailpro:${p.service}`;
  };
  const mxPlanDomain = (p: Params) => mxPlan.get(p.domain!);
  return [
    // Exchange
    route('GET', 'email/exchange', () => services.organizations()),
    route('GET', 'email/exchange/:org/service', (p) => services.exchangeServices(p.org!)),
    route('GET', EXCHANGE_SERVICE, (p) => services.exchangeService(p.org!, p.service!)),
    route('GET', `${EXCHANGE_SERVICE}/domain`, (p) => services.exchangeDomains(p.org!, p.service!)),
    route('GET', `${EXCHANGE_SERVICE}/domain/:domain`, (p) => ({
      name: exchangeDomain(p).domain,
      state: 'ok',
      type: 'authoritative',
    })),
    ...dkimRoutes(model, `${EXCHANGE_SERVICE}/domain/:domain`, exchangeDomain, taskView),
    route('GET', `${EXCHANGE_SERVICE}/task`, (p) => tasks.of(exchangeOwner(p)).map((task) => task.id)),
    route('GET', `${EXCHANGE_SERVICE}/task/:id`, (p) => taskView(tasks.find(exchangeOwner(p), p.id!))),
    // Email Pro
    route('GET', 'email/pro', () => services.emailProServices()),
    route('GET', EMAIL_PRO_SERVICE, (p) => {
      services.requireEmailProService(p.service!);
      return emailProServiceView(p.service!);
    }),
    route('GET', `${EMAIL_PRO_SERVICE}/domain`, (p) => services.emailProDomains(p.service!)),
    route('GET', `${EMAIL_PRO_SERVICE}/domain/:domain`, (p) => emailProDomainView(emailProDomain(p))),
    ...dkimRoutes(model, `${EMAIL_PRO_SERVICE}/domain/:domain`, emailProDomain, emailProTaskView),
    route('GET', `${EMAIL_PRO_SERVICE}/task`, (p) => tasks.of(emailProOwner(p)).map((task) => task.id)),
    route('GET', `${EMAIL_PRO_SERVICE}/task/:id`, (p) => emailProTaskView(tasks.find(emailProOwner(p), p.id!))),
    // MX Plan / Zimbra
    route('GET', 'email/domain', () => mxPlan.names()),
    route('GET', MX_PLAN_DOMAIN, (p) => mxPlanDomainView(mxPlanDomain(p))),
    route('GET', `${MX_PLAN_DOMAIN}/dkim`, (p) => mxPlan.view(mxPlanDomain(p))),
    route('PUT', `${MX_PLAN_DOMAIN}/dkim/enable`, (p) => mxPlanTaskView(mxPlan.enable(mxPlanDomain(p)))),
    route('PUT', `${MX_PLAN_DOMAIN}/dkim/disable`, (p) => mxPlanTaskView(mxPlan.disable(mxPlanDomain(p)))),
    route('GET', `${MX_PLAN_DOMAIN}/task/all`, (p) =>
      tasks.of(mxPlan.taskOwner(mxPlanDomain(p))).map((task) => task.id),
    ),
    route('GET', `${MX_PLAN_DOMAIN}/task/all/:id`, (p) =>
      mxPlanTaskView(tasks.find(mxPlan.taskOwner(mxPlanDomain(p)), p.id!)),
    ),
  ];
}
