"""The validators' wing: SHACL validation (`shacl`, `outcome`) on a change's
neighbourhood fetched by the store's engine (`neighbourhood`, from the shapes' derived reach:
`shape_reach`, `sparql_reach`, `reach_patterns`), validated writes (`guard`, shared
with the researchers' /update and /store), reports in every form (`reports`), `/validate` and
`/submissions`.

It imports web/, store/ and core/ below it, never the other wings. `shacl`, `outcome`,
`guard` and the neighbourhood modules know no HTTP."""
