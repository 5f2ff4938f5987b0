//! Routes declared once. A handler's `#[utoipa::path]` names its method and path; [`Routes`] takes both from
//! there to register the handler with actix and to describe it in the OpenAPI document, so a route cannot be
//! served undescribed, described unserved, or served at another path than the one described.
//! A leaf: route modules fill a `Routes`, `app.rs` serves it and `openapi` describes it.

use actix_web::dev::Handler;
use actix_web::http::Method;
use actix_web::{web, FromRequest, Resource, Responder, Route};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{ComponentsBuilder, OpenApi, OpenApiBuilder, RefOr};

/// What `#[utoipa::path]` makes for a handler `f`: the unit struct `__path_f`, with the method, path, tags and
/// operation of `f` and the schemas the operation refers to (how utoipa's own `OpenApi` derive and
/// `utoipa-actix-web` read a handler too).
pub trait Described: utoipa::Path + utoipa::__dev::Tags<'static> + utoipa::__dev::SchemaReferences {}

impl<T: utoipa::Path + utoipa::__dev::Tags<'static> + utoipa::__dev::SchemaReferences> Described for T {}

/// Every route of the service, in the order actix tries them, and their description.
#[derive(Default)]
pub struct Routes {
    resources: Vec<AtPath>,
    /// The index in `resources` of the path added last.
    last: usize,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

/// One path and every method served at it: actix answers any other method with 405.
struct AtPath {
    path: String,
    routes: Vec<Route>,
    settings: Vec<Box<dyn FnOnce(Resource) -> Resource>>,
}

impl Routes {
    /// Serves `handler` at the method and path of its `#[utoipa::path]` (`described`, its `__path_…` struct).
    pub fn add<D, H, Args>(&mut self, described: D, handler: H) -> &mut Self
    where
        D: Described,
        H: Handler<Args>,
        Args: FromRequest + 'static,
        H::Output: Responder + 'static,
    {
        self.add_route(described, |method| web::method(method).to(handler.clone()))
    }

    /// Like [`Routes::add`], with the route built by `route` for each method (to wrap it in a middleware).
    pub fn add_route<D: Described>(&mut self, _described: D, route: impl Fn(Method) -> Route) -> &mut Self {
        let path = D::path();
        self.last = match self.resources.iter().position(|r| r.path == path) {
            Some(index) => index,
            None => {
                self.resources.push(AtPath { path: path.clone(), routes: Vec::new(), settings: Vec::new() });
                self.resources.len() - 1
            }
        };
        for method in D::methods() {
            self.resources[self.last].routes.push(route(actix_method(&method)));
        }
        let mut operation = D::operation();
        operation.tags.get_or_insert_with(Vec::new).extend(D::tags().into_iter().map(str::to_owned));
        self.paths.add_path_operation(&path, D::methods(), operation);
        D::schemas(&mut self.schemas);
        self
    }

    /// Data for the extractors of the path added last (e.g. a larger body limit than the app's).
    pub fn app_data<U: 'static>(&mut self, data: U) -> &mut Self {
        let resource = self.resources.get_mut(self.last).expect("a route was added");
        resource.settings.push(Box::new(move |r| r.app_data(data)));
        self
    }

    /// Registers every route with actix.
    pub fn register(self, cfg: &mut web::ServiceConfig) {
        for AtPath { path, routes, settings } in self.resources {
            let resource = settings.into_iter().fold(web::resource(path), |r, setting| setting(r));
            cfg.service(routes.into_iter().fold(resource, Resource::route));
        }
    }

    /// The paths and schemas of every route, to merge into the OpenAPI document.
    pub fn describe(self) -> OpenApi {
        let components = ComponentsBuilder::new().schemas_from_iter(self.schemas).build();
        OpenApiBuilder::new().paths(self.paths).components(Some(components)).build()
    }
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::test::{call_service, init_service, read_body, TestRequest};
    use actix_web::{App, HttpResponse};

    use super::*;

    /// Lists things, and says which `u8` its path was given as data.
    #[utoipa::path(get, path = "/things", tag = "things", responses((status = 200, description = "Listed")))]
    async fn list(data: Option<web::Data<u8>>) -> String {
        data.map_or("none".to_owned(), |n| n.to_string())
    }

    #[utoipa::path(post, path = "/things", responses((status = 201, description = "Made")))]
    async fn make() -> HttpResponse {
        HttpResponse::Created().finish()
    }

    #[utoipa::path(get, path = "/other", responses((status = 200, description = "Listed")))]
    async fn other(data: Option<web::Data<u8>>) -> String {
        data.map_or("none".to_owned(), |n| n.to_string())
    }

    /// `make` joins `list` at its path, after another path: the data goes to the path of `make`.
    fn routes() -> Routes {
        let mut routes = Routes::default();
        routes.add(__path_list, list).add(__path_other, other).add(__path_make, make).app_data(web::Data::new(9u8));
        routes
    }

    #[actix_web::test]
    async fn the_methods_of_a_path_are_one_resource_and_other_methods_are_405() {
        let app = init_service(App::new().configure(|cfg| routes().register(cfg))).await;
        let call = |method: Method, path: &str| TestRequest::default().method(method).uri(path).to_request();
        let listed = call_service(&app, call(Method::GET, "/things")).await;
        assert_eq!(listed.status(), StatusCode::OK);
        assert_eq!(read_body(listed).await, "9");
        assert_eq!(call_service(&app, call(Method::POST, "/things")).await.status(), StatusCode::CREATED);
        let wrong = call_service(&app, call(Method::DELETE, "/things")).await;
        assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(read_body(call_service(&app, call(Method::GET, "/other")).await).await, "none");
    }

    #[test]
    fn what_is_served_is_described() {
        let doc = routes().describe();
        let things = &doc.paths.paths["/things"];
        assert!(things.get.is_some() && things.post.is_some() && things.delete.is_none());
        assert_eq!(things.get.as_ref().unwrap().tags, Some(vec!["things".to_owned()]));
        assert!(doc.paths.paths["/other"].get.is_some());
        assert_eq!(doc.paths.paths.len(), 2);
    }
}
