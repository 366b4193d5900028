/** An app module without the export the test asks for: serve() must fail to start, naming it. */
export const somethingElse = 1;
