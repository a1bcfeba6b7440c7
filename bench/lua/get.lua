-- GET the paths given as arguments, in turn (one path: the same request every time).
local paths = {}
local counter = 0

function init(args)
  for _, path in ipairs(args) do table.insert(paths, path) end
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
