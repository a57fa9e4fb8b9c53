"""The index: built as named steps (build), written and read only by the generation store (store),
described by a typed manifest (manifest), searched through a lexical (BM25) backend and a vector
store behind one Protocol (vectorstore): FAISS files (dense, the default) or Milvus (milvus)."""
