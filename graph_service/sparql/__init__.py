"""The researchers' wing: the SPARQL 1.1 Protocol (`/sparql`), Update (`/update`), the Graph
Store Protocol (`/store`), the catalogue of named queries (`/queries`) and the service
description.

It imports web/, store/ and core/ below it; of the other wings only the shared
`validation.guard` (validated writes). `catalogue` knows no HTTP."""
