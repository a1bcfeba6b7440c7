"""The demo city: real 株洲 divisions with clearly-marked demo villages and people."""
