// tsserver resolves plugin names without package.json "exports": this file makes `akts/language-service` findable.
module.exports = require("./dist/integrations/language-service.js");
