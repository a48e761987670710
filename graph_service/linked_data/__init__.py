"""The agencies' wing: dereferenceable entity IRIs (`/id/...`) with their HTML pages, the
vocabulary and shapes pages, JSON-LD, dumps, VoID, the DCAT-AP-NO catalogue and the home page.

It imports web/, store/ and core/ below it, never the other wings. `describe` and `jsonld` know
no HTTP."""
