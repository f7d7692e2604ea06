// Swagger UI (flasgger's 3.28 bundle) for people: whole header values, readable validation messages.
window.CryptoApiSwagger = {
  // swagger-client splits a response header at ", " into a list, and Swagger UI prints the list
  // with nothing between the items ("publicmax-age=60"): join them back as they were sent.
  joinHeaderLists: function (response) {
    var headers = response.headers || {};
    Object.keys(headers).forEach(function (name) {
      if (Array.isArray(headers[name])) headers[name] = headers[name].join(", ");
    });
    return response;
  },
  // A value the schema's pattern rejects only turned red (the regex in a tooltip): say below the
  // field what the schema's description asks for.
  readableErrors: function () {
    return {
      wrapComponents: {
        JsonSchema_string: function (Original, system) {
          return function (props) {
            var React = system.React;
            // Always the same wrapper: were the input to move in the tree, React would remount it,
            // and its remount reports a change that clears the errors it is meant to show.
            var element = React.createElement(Original, props);
            var errors = props.errors && props.errors.toJS ? props.errors.toJS() : props.errors || [];
            if (!errors.length) return React.createElement("div", null, element);
            var schema = props.schema;
            var description = schema && schema.get ? schema.get("description") : "";
            var messages = errors.map(function (error) {
              var text = String(error);
              if (text.indexOf("Value must follow pattern") !== 0) return text;
              return "Not in the documented format" + (description ? ": " + description : ".");
            });
            return React.createElement(
              "div",
              null,
              element,
              React.createElement("p", { className: "validation-message", role: "alert" }, messages.join(" "))
            );
          };
        },
      },
    };
  },
};
