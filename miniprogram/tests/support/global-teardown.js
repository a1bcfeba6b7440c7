const backend = require('./backend')

module.exports = async () => {
  backend.stop()
}
