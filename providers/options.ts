/**
 * Thrown by an options resolver when the caller's query is missing or wrong (e.g. `channels` without
 * `?teamId=`): the API answers 400 naming `query.<param>`, not 502 (the provider's API was not at fault).
 */
export class OptionsQueryError extends Error {
  constructor(
    readonly param: string,
    /** What is wrong with it, e.g. "is required (pick a team first)". */
    readonly detail: string,
  ) {
    super(`${param} ${detail}`);
    this.name = 'OptionsQueryError';
  }
}
