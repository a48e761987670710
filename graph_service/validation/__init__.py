"""The validators' wing: SHACL validation (`shacl`, `outcome`) on a change's
neighbourhood fetched by the store's engine (`neighbourhood`, its SPARQL written by
`neighbourhood_render`, from the shapes' derived reach:
`shape_reach`, `sparql_reach`, `reach_patterns`) with pySHACL in killable worker processes
(`pool`, `_shacl_worker`), validated writes judged by their difference (`guard`, `delta`,
`update_delta`; shared with the researchers' /update and /store), reports in every form
(`reports`), `/validate` and `/submissions`.

It imports web/, store/ and core/ below it, never the other wings. Only `routes`,
`submissions` and `reports` speak HTTP."""
