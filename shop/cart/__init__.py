"""The buyer's cart, kept on the server so it survives a change of phone."""
