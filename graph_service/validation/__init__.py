"""The validators' wing: SHACL validation (`shacl`, `outcome`), validated writes (`guard`, shared
with the researchers' /update and /store), reports in every form (`reports`), `/validate` and
`/submissions`.

It imports web/, store/ and core/ below it, never the other wings. `shacl`, `outcome` and
`guard` know no HTTP."""
