/** The part of @ovhcloud/node-ovh 3.x the bot uses (the package ships no typings). */
declare module '@ovhcloud/node-ovh' {
  export interface OvhClientOptions {
    endpoint?: string;
    host?: string;
    port?: number;
    basePath?: string;
    appKey?: string;
    appSecret?: string;
    consumerKey?: string;
    clientID?: string;
    clientSecret?: string;
    tokenURL?: string;
    timeout?: number;
    apiTimeDiff?: number;
    debug?: boolean | ((...args: unknown[]) => void);
    warn?: (...args: unknown[]) => void;
  }

  /** Rejections carry the HTTP status (or a network errno / message) in `error` and OVH's message in `message`. */
  export interface OvhRequestError {
    error: unknown;
    message?: unknown;
  }

  export interface OvhClient {
    requestPromised(method: string, path: string, params?: Record<string, unknown>): Promise<unknown>;
  }

  function ovh(options: OvhClientOptions): OvhClient;
  export default ovh;
}
