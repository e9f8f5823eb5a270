// tsserver resolves plugin names without package.json "exports": this file makes `akts/language-service` findable.
module.exports = require("./dist/plugin/language-service.js");
