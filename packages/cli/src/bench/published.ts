/**
 * The figures the PartsCoder middleware (FastAPI + JWT) published for its auth service, which a
 * Gatehouse deployment should beat at the same user count. Times are mean response times in ms.
 */
export const publishedSource = 'PartsCoder middleware (FastAPI + JWT), published load-test figures';

export interface PublishedFigure {
  /** Row label in the comparison table. */
  figure: 'login time' | 'token generation time' | 'mw_auth response time' | 'mw_auth error rate';
  users: number;
  /** ms for times, a fraction (0.02 = 2%) for error rates. */
  value: number;
}

export const publishedFigures: PublishedFigure[] = [
  { figure: 'login time', users: 1, value: 120 },
  { figure: 'login time', users: 10, value: 140 },
  { figure: 'login time', users: 100, value: 160 },
  { figure: 'token generation time', users: 1, value: 30 },
  { figure: 'token generation time', users: 10, value: 30 },
  { figure: 'token generation time', users: 100, value: 35 },
  { figure: 'mw_auth response time', users: 1, value: 120 },
  { figure: 'mw_auth response time', users: 10, value: 150 },
  { figure: 'mw_auth response time', users: 100, value: 300 },
  { figure: 'mw_auth error rate', users: 1, value: 0 },
  { figure: 'mw_auth error rate', users: 10, value: 0 },
  { figure: 'mw_auth error rate', users: 100, value: 0.02 },
];
